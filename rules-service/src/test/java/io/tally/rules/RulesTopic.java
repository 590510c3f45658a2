package io.tally.rules;

import io.tally.devstack.Deadline;
import io.tally.model.Topics;
import io.tally.testinfra.TestStack;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/** Reads what reached tally.rules, from the beginning, for tests of the outbox relay. */
final class RulesTopic {

    private RulesTopic() {
    }

    /**
     * The matching records once at least {@code atLeast} are there (or {@code timeout} passed), after reading on
     * for {@code linger} more so that anything published twice right behind is seen too.
     */
    static List<ConsumerRecord<String, String>> read(Predicate<ConsumerRecord<String, String>> match, int atLeast, Duration timeout,
                                                     Duration linger) {
        Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestStack.infrastructure().kafkaBootstrap());
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.RULES).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            BooleanSupplier poll = () -> {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (match.test(r)) {
                        found.add(r);
                    }
                }
                return found.size() >= atLeast;
            };
            Deadline.in(timeout).await(poll, Duration.ofMillis(1));
            if (!linger.isZero()) {
                Deadline.in(linger).await(() -> {
                    poll.getAsBoolean();
                    return false;
                }, Duration.ofMillis(1));
            }
        }
        return found;
    }
}
