// Anomaly episodes (one node per episode, never per reading; one row each). link_episode_places
// joins them to their sensor and to the location the sensor was in then (history stays where it
// happened when a node moves). A replayed or older revision changes nothing that a newer one
// set: callers send the newest.
// $rows: [{id, cluster, node, location, sensor, sensor_key, metric, unit, kind, rule, severity, started, ended, last, flags, peak_value, peak_sigma, reason, updated}]
UNWIND $rows AS r
MERGE (e:Episode {id: r.id})
SET e.cluster = r.cluster, e.node = r.node, e.location = r.location, e.sensor = r.sensor,
    e.sensor_key = r.sensor_key, e.metric = r.metric, e.unit = r.unit, e.kind = r.kind,
    e.rule = r.rule, e.severity = r.severity, e.started = r.started, e.ended = toFloat(r.ended),
    e.last = r.last, e.flags = r.flags, e.peak_value = toFloat(r.peak_value), e.peak_sigma = toFloat(r.peak_sigma),
    e.reason = r.reason, e.updated = r.updated
