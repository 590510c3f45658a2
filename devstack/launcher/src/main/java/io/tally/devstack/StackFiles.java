package io.tally.devstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Deleting the stack's folders: data on `down --purge`, throwaway test stacks on exit. */
public final class StackFiles {

    private StackFiles() {
    }

    /** Deletes {@code root} and everything below it; says what failed. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new StackException("cannot delete " + root + ": " + e.getMessage(), e);
        }
    }

    /** As {@link #deleteTree}, best effort (a test stack's folder under the temp dir). */
    public static void deleteQuietly(Path root) {
        try {
            deleteTree(root);
        } catch (StackException ignored) {
            // left for the next run's reaper or the OS's temp cleanup
        }
    }
}
