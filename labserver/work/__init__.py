"""The pages of metrologists, reviewers and signatories: their jobs, a run with its
points, budgets and error chart, review, approval or rejection as electronic signatures,
and issuing the certificate of an approved run."""
