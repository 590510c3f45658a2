package io.tally.devstack;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ThreadLocalRandom;

/** Port checks, so a clash is reported with the variable that moves it instead of a cryptic bind error. */
public final class Ports {

    private Ports() {
    }

    public static boolean inUse(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static void requireFree(String what, String variable, int... ports) {
        for (int port : ports) {
            if (inUse(port)) {
                throw new StackException(what + " cannot start: port " + port + " on 127.0.0.1 is taken by another process. "
                    + "Stop that process or choose other ports with " + variable + ".");
            }
        }
    }

    /**
     * Finds a base port with {@code count} consecutive free ports (and, if {@code alsoPlus10000}, the
     * ports 10000 above them, as Redis Cluster's bus needs), for throwaway test stacks. Bases are drawn
     * from 20000-22699 so every port, bus ports included, stays below Linux's ephemeral range
     * (32768 and up), where client sockets would otherwise take them at random.
     */
    public static int findFreeRange(int count, boolean alsoPlus10000) {
        for (int attempt = 0; attempt < 500; attempt++) {
            int base = 20000 + ThreadLocalRandom.current().nextInt(0, 2700 - count);
            boolean free = true;
            for (int i = 0; i < count && free; i++) {
                free = bindable(base + i) && (!alsoPlus10000 || bindable(base + i + 10000));
            }
            if (free) {
                return base;
            }
        }
        throw new StackException("no free range of " + count + " ports found on 127.0.0.1 below 32768");
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
