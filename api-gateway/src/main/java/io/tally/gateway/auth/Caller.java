package io.tally.gateway.auth;

import java.util.Set;

/** Who is calling, from a verified token: the tenant is taken from here only, never from a body or path. */
public record Caller(String subject, String tenant, Set<String> roles) {

    public boolean hasAnyRole(Set<String> wanted) {
        return roles.stream().anyMatch(wanted::contains);
    }
}
