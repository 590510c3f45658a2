package io.tally.telemetry;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BoundedLabelsTest {

    @Test
    void theFirstValuesKeepTheirLabelAndTheRestShareOne() {
        BoundedLabels labels = new BoundedLabels(2);
        assertEquals("a", labels.of("a"));
        assertEquals("b", labels.of("b"));
        assertEquals(BoundedLabels.OTHER, labels.of("c"));
        assertEquals("a", labels.of("a"), "an admitted value keeps its label");
        assertEquals(BoundedLabels.OTHER, labels.of("d"));
    }

    @Test
    void zeroMeansEveryValueIsOther() {
        assertEquals(BoundedLabels.OTHER, new BoundedLabels(0).of("a"));
        assertThrows(IllegalArgumentException.class, () -> new BoundedLabels(-1));
    }
}
