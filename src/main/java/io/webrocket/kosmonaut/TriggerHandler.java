package io.webrocket.kosmonaut;

/** Handles one trigger on a worker's handler thread; whatever it throws is reported, never fatal. */
@FunctionalInterface
public interface TriggerHandler {
  void handle(Trigger trigger) throws Exception;
}
