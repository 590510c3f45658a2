package io.tally.results;

import io.micronaut.serde.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ResultWindowTest {

    @Test
    void showsOverflowGroupsOnlyWhenGroupsWentToOther() throws Exception {
        ResultWindow.Group group = new ResultWindow.Group(Map.of("geo", "US"), Map.of("n", 1));
        assertEquals("{\"start\":\"a\",\"end\":\"b\",\"final\":false,\"groups\":[{\"group\":{\"geo\":\"US\"},\"values\":{\"n\":1}}],\"overflowGroups\":2}",
            ObjectMapper.getDefault().writeValueAsString(new ResultWindow("a", "b", false, List.of(group), 2L)));
        assertEquals("{\"start\":\"a\",\"end\":\"b\",\"final\":false,\"groups\":[{\"group\":{\"geo\":\"US\"},\"values\":{\"n\":1}}]}",
            ObjectMapper.getDefault().writeValueAsString(new ResultWindow("a", "b", false, List.of(group), null)));
    }
}
