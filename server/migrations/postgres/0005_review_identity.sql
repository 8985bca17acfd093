-- Keyhole schema, version 5 (postgres): reviews remember the reviewer's Kubernetes user name (the
-- name grants impersonate), so N-of-M approvals count distinct people as Kubernetes sees them,
-- not only distinct IdP subjects. NULL for reviews written before this version.

ALTER TABLE access_reviews ADD COLUMN reviewer_kube_user TEXT;
-- One review per Kubernetes user per request (NULLs, i.e. older rows, never collide).
CREATE UNIQUE INDEX access_reviews_kube_user ON access_reviews (request_id, reviewer_kube_user);
