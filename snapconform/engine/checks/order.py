"""The order the checks run in (``engine.plan``), named by their check functions.

The decisive, cheap probes first (authentication, the cap, injected faults, the invalid-status
and empty-filter checks), then the exploratory filter properties and fuzzing; the audits
(those with a run-wide check) run after all of these, the contract probe first.
"""

from __future__ import annotations

from snapconform.engine.checks import (
    auth,
    cap,
    faults,
    filter_relations,
    filter_values,
    filters,
    fuzzing,
    visibility,
)

DECISIVE = (
    auth.check_no_credentials,
    auth.check_challenge,
    auth.check_www_authenticate,
    auth.check_bogus_session,
    auth.check_wrong_password,
    auth.check_unauthenticated_undisclosed,
    auth.check_deleted_session,
    auth.check_unprivileged_forbidden,
    auth.check_privilege_undisclosed,
    cap.check_cap_at_limit,
    cap.check_cap_over_limit,
    cap.check_cap_counts_matching,
    faults.check_fault_503,
    faults.check_fault_500,
    filter_values.check_invalid_status,
    filters.check_empty_filter_returns_all,
)
EXPLORATION = (
    filter_values.check_unknown_identifiers,
    visibility.check_visibility,
    filter_values.check_exact_encoded_values,
    filter_relations.check_repeatable,
    filter_relations.check_order_and_repeats,
    filter_relations.check_or_within_and_across,
    filters.check_filter_completeness,
    filters.check_filter_soundness,
    fuzzing.check_fuzzing,
    # after every filter check: it reads the users comparison they saw
    filter_values.check_users_exact,
)
