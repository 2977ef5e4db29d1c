-- Listings filter by parent and sort by creation: one index serves both, so
-- a listing reads only its own rows (not every row of the organization).
CREATE INDEX clusters_listing ON clusters (parent_id, created_at, id);
CREATE INDEX container_registries_listing ON container_registries (parent_id, created_at, id);
CREATE INDEX projects_listing ON projects (parent_id, created_at, id);
CREATE INDEX environments_listing ON environments (parent_id, created_at, id);
CREATE INDEX services_listing ON services (parent_id, created_at, id);
