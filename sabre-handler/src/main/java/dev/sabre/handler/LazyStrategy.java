package dev.sabre.handler;

import java.io.IOException;

/** {@code lazy}: every page on demand, read (and decoded) when the guest first touches it. */
class LazyStrategy implements StrategyPolicy {
    @Override
    public MemorySources open(HandlerConfig config) throws IOException {
        return MemorySources.open(config.memory(), null, config);
    }
}
