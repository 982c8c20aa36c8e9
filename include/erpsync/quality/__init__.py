"""Data quality: expectation suites per dataset (:mod:`.suites`), row-level validation with Great
Expectations (:mod:`.validate`) and batch guardrails (:mod:`.guardrails`)."""
