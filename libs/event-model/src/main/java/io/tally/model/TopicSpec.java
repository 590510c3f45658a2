package io.tally.model;

import java.util.Map;

/**
 * How one Kafka topic is laid out: name, partition count and topic-level configs.
 * Provisioning (the local stack, the Helm chart's job) creates topics from these specs.
 */
public record TopicSpec(String name, int partitions, Map<String, String> configs) {

    public TopicSpec {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("topic name must not be blank");
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("topic " + name + " needs at least one partition");
        }
        configs = Map.copyOf(configs);
    }
}
