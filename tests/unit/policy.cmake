# core/policy: glob matching, strict rule parsing, evaluation (GitHub- and
# GitLab-shaped identities normalised by core/identity), rate limits.
signet_unit_test(signet_policy_test
  SOURCES policy/glob_test.cpp policy/policy_json_test.cpp policy/policy_eval_test.cpp
          policy/rate_limit_test.cpp
  DEPS signet_policy signet_identity nlohmann_json::nlohmann_json)
