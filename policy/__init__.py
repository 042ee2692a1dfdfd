"""The sciflow CrossGuard policy pack (``policy.policies``) and its offline runner (``policy.check``)."""
