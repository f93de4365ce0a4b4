// Locations known only from episodes or incidents, created without a last_seen.
// $names: distinct location names
UNWIND $names AS name
MERGE (l:Location {name: name})
