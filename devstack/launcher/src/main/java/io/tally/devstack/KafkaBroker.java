package io.tally.devstack;

import io.tally.model.TopicSpec;
import io.tally.model.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** A single-node Kafka broker in KRaft mode (broker and controller in one JVM). */
public final class KafkaBroker implements Component {

    private static final String CLASSPATH_RESOURCE = "/io/tally/devstack/kafka-broker.classpath";

    private final StackConfig config;
    private final TrackedProcess process;
    private final Path logDir;

    public KafkaBroker(StackConfig config) {
        this.config = config;
        this.process = new TrackedProcess(config, "kafka");
        this.logDir = config.dataDir().resolve("kafka");
    }

    @Override
    public String name() {
        return "kafka";
    }

    @Override
    public List<TrackedProcess> processes() {
        return List.of(process);
    }

    @Override
    public String address() {
        return config.kafkaBootstrap();
    }

    @Override
    public void checkPorts() {
        if (!process.isAlive()) {
            Ports.requireFree("Kafka", "TALLY_KAFKA_PORT", config.kafkaPort(), config.kafkaControllerPort());
        }
    }

    @Override
    public void start() {
        if (process.isAlive()) {
            return;
        }
        checkPorts();
        try {
            Files.createDirectories(logDir);
            Path properties = config.dataDir().resolve("kafka-server.properties");
            Files.writeString(properties, serverProperties());
            String classpath = brokerClasspath();
            String java = Jvm.javaExecutable();
            if (!Files.exists(logDir.resolve("meta.properties"))) {
                format(java, classpath, properties);
            }
            List<String> command = new ArrayList<>(List.of(java,
                "-Xms128m", "-Xmx" + config.env().getOrDefault("TALLY_KAFKA_HEAP", "512m"),
                "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-cp", classpath, "kafka.Kafka", properties.toString()));
            process.start(command, Map.of(), config.dataDir());
        } catch (IOException e) {
            throw new StackException("cannot prepare Kafka in " + logDir + ": " + e.getMessage(), e);
        }
    }

    private void format(String java, String classpath, Path properties) {
        // A fresh cluster id per data folder; formatting is a one-off before the first start.
        String clusterId = Uuids.newKafkaClusterId();
        TrackedProcess formatter = new TrackedProcess(config, "kafka-format");
        long pid = formatter.start(List.of(java, "-Xmx128m", "-cp", classpath, "kafka.tools.StorageTool", "format",
            "--cluster-id=" + clusterId, "--config=" + properties), Map.of(), config.dataDir());
        ProcessHandle handle = ProcessHandle.of(pid).orElse(null);
        try {
            if (handle != null) {
                handle.onExit().get(60, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new StackException("formatting Kafka storage did not finish; see " + formatter.logFile(), e);
        } finally {
            formatter.forget();
        }
        if (!Files.exists(logDir.resolve("meta.properties"))) {
            throw new StackException("formatting Kafka storage failed:\n" + formatter.logTail(15));
        }
    }

    String serverProperties() {
        String host = "127.0.0.1";
        return String.join("\n",
            "process.roles=broker,controller",
            "node.id=1",
            "controller.quorum.voters=1@" + host + ":" + config.kafkaControllerPort(),
            "listeners=PLAINTEXT://" + host + ":" + config.kafkaPort() + ",CONTROLLER://" + host + ":" + config.kafkaControllerPort(),
            "advertised.listeners=PLAINTEXT://" + host + ":" + config.kafkaPort(),
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs=" + logDir,
            "num.partitions=" + Topics.EVENT_PARTITIONS,
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=12",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=12",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            // The default 128 MiB dedupe buffer does not fit a small heap.
            "log.cleaner.dedupe.buffer.size=8388608",
            "log.retention.hours=168",
            "num.network.threads=2",
            "num.io.threads=4",
            "") ;
    }

    static String brokerClasspath() {
        try (InputStream in = KafkaBroker.class.getResourceAsStream(CLASSPATH_RESOURCE)) {
            if (in == null) {
                throw new StackException("the Kafka broker classpath is missing from the launcher; rebuild with ./mvnw -DskipTests package");
            }
            String classpath = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            for (String entry : classpath.split(File.pathSeparator)) {
                if (!Files.exists(Path.of(entry))) {
                    throw new StackException("the Kafka broker jar " + entry + " is missing from the local Maven repository; rebuild with ./mvnw -DskipTests package");
                }
            }
            return classpath;
        } catch (IOException e) {
            throw new StackException("cannot read the Kafka broker classpath: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean isReady() {
        // Probe the port first: an admin client against a closed port only logs warnings.
        if (!process.isAlive() || !Ports.inUse(config.kafkaPort())) {
            return false;
        }
        try (Admin admin = admin(Duration.ofSeconds(2))) {
            return !admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty();
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void awaitReady(Deadline deadline) {
        process.awaitReady("Kafka", deadline, this::isReady, Duration.ofMillis(300));
        createTopics();
    }

    /** Creates Tally's topics that do not exist yet (idempotent). */
    public void createTopics() {
        try (Admin admin = admin(Duration.ofSeconds(10))) {
            List<NewTopic> topics = Topics.all().stream().map(KafkaBroker::newTopic).toList();
            var result = admin.createTopics(topics);
            for (var entry : result.values().entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new StackException("cannot create topic " + entry.getKey() + ": " + e.getCause().getMessage(), e);
                    }
                }
            }
        } catch (StackException e) {
            throw e;
        } catch (Exception e) {
            throw new StackException("cannot create Tally's topics: " + e.getMessage(), e);
        }
    }

    private static NewTopic newTopic(TopicSpec spec) {
        return new NewTopic(spec.name(), spec.partitions(), (short) 1).configs(spec.configs());
    }

    private Admin admin(Duration timeout) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrap());
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "tally-devstack");
        return Admin.create(props);
    }

    @Override
    public void stop() {
        // SIGTERM lets the broker shut down cleanly so the next start skips log recovery.
        process.stop("TERM", Duration.ofSeconds(30));
    }
}
