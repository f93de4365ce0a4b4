// Everything, before a rebuild (people's knowledge is exported first and imported after).
MATCH (x)
DETACH DELETE x
