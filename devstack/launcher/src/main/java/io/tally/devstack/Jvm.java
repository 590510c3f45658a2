package io.tally.devstack;

/** The JVM the launcher runs on is the one (JDK 21+) it starts every other JVM with. */
final class Jvm {

    private Jvm() {
    }

    static String javaExecutable() {
        return ProcessHandle.current().info().command()
            .orElse(System.getProperty("java.home") + "/bin/java");
    }
}
