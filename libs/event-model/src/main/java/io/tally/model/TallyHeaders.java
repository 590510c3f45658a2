package io.tally.model;

/** HTTP headers of the internal protocol between the gateway and the services. */
public final class TallyHeaders {

    /**
     * The authenticated tenant. Only the gateway sets it: it strips any incoming copy and writes the
     * tenant from the verified token. Services trust it and are never reachable from outside.
     */
    public static final String TENANT = "X-Tally-Tenant";

    /** The caller's roles from the verified token, comma separated. */
    public static final String ROLES = "X-Tally-Roles";

    /** Correlates the log lines of one request across services; echoed to the client. */
    public static final String REQUEST_ID = "X-Request-Id";

    private TallyHeaders() {
    }
}
