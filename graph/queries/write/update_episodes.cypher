// The newer state of episodes the graph already holds (written in full at most a minute ago):
// what an open episode changes as it grows. Where, what and when it started never change (its id
// is made of them); upsert_episodes writes new ones with their sensor and location.
// $rows: [{id, severity, ended, last, flags, peak_value, peak_sigma, reason, updated}]
UNWIND $rows AS r
MATCH (e:Episode {id: r.id})
SET e.severity = r.severity, e.ended = toFloat(r.ended), e.last = r.last, e.flags = r.flags,
    e.peak_value = toFloat(r.peak_value), e.peak_sigma = toFloat(r.peak_sigma),
    e.reason = r.reason, e.updated = r.updated
