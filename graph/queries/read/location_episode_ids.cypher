// The ids of the newest episodes seen at one location, started in [$since, $until) (their rows:
// `episodes`). From the location outwards, the time filter after the traversal (`WITH e WHERE`):
// with the filter in the MATCH, Ladybug scans every Episode and hash-joins them; and only the id
// and start of each are carried to the sort (Ladybug's ORDER BY costs with every column).
// $location, $since, $until, $limit
MATCH (l:Location {name: $location})<-[:AT]-(e:Episode)
WITH e WHERE e.started >= $since AND e.started < $until
RETURN e.id AS id, e.started AS started
ORDER BY started DESC
LIMIT $limit
