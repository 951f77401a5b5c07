package message

// Properties are a message's properties by name: the user's (set with WithProperty by clients)
// and the system's (TAGS, KEYS, UNIQ_KEY, ...) in one map, as the stored record holds them.
// A nil map is a message without properties.
type Properties = map[string]string
