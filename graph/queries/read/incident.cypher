// Incidents by id (one primary-key lookup each), in no particular order.
// $ids
UNWIND $ids AS wanted
MATCH (i:Incident {id: wanted})
RETURN i.id AS id, i.title AS title, i.location AS location, i.started AS started, i.ended AS ended,
       i.status AS status, i.summary AS summary, i.created_by AS created_by,
       i.created_at AS created_at, i.updated_by AS updated_by, i.updated_at AS updated_at
