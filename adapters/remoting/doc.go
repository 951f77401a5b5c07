// Package remoting is the TCP transport of RocketMQ's remoting protocol: a Server that accepts
// connections, a Client that keeps one outbound connection per address, and the Conn they share,
// which reads frames, runs each request in its own goroutine (a held long poll must not delay the
// sends behind it on the same socket), matches responses to waiting Invokes by opaque, and
// serializes writes. A Router dispatches requests by code through a middleware chain.
//
// Frames are encoded and decoded by sdk/wire; this package owns sockets, limits and lifecycles.
package remoting
