// The incident one person recorded last (for "no, it was …" right after recording one).
// $by
MATCH (i:Incident)
WHERE i.created_by = $by
RETURN i.id AS id, i.created_at AS created_at
ORDER BY created_at DESC
LIMIT 1
