// Package broker is the broker's domain: topics and groups, the send and pull use cases with long
// polling, consumer offsets, the client registry and registration with name servers. It reaches
// storage and the network only through ports.
package broker
