package io.tally.model;

import java.util.regex.Pattern;

/** What a tenant id is (API.md, "Authentication and tenants"): 1-40 of a-z, 0-9 and '-', not starting with '-'. */
public final class Tenants {

    private static final Pattern TENANT = Pattern.compile("^[a-z0-9][a-z0-9-]{0,39}$");

    private Tenants() {
    }

    public static boolean isValid(String tenant) {
        return tenant != null && TENANT.matcher(tenant).matches();
    }
}
