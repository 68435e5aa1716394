/**
 * Kosmonaut: the Java library for WebRocket backends. {@link io.webrocket.kosmonaut.Client}
 * opens and closes channels, broadcasts and issues single access tokens;
 * {@link io.webrocket.kosmonaut.Worker} receives what browsers trigger. It speaks WBP over plain
 * JDK sockets and threads, needs nothing but the JDK and jackson-core, and imports nothing from
 * the broker (a test enforces it). Guide: docs/backend-clients.md.
 */
package io.webrocket.kosmonaut;
