package io.tally.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Whether an address names only this machine: development defaults are allowed there and nowhere else. */
public final class Loopback {

    private Loopback() {
    }

    /** True for 127.0.0.0/8, ::1 and localhost; false for anything else, names other than localhost included. */
    public static boolean is(String host) {
        if (host == null || host.isBlank()) {
            return false;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!h.matches("[0-9.]+") && !h.contains(":")) {
            return false; // a name other than localhost may resolve anywhere
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
