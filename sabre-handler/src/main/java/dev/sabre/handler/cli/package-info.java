/**
 * The handler's one command line: {@code sabre handler} (registered in the {@code sabre} command) and
 * {@link dev.sabre.handler.cli.HandlerMain}, the same command as a process of its own, which the
 * orchestrator launches. Options and control subcommands are documented in docs/handler.md.
 */
package dev.sabre.handler.cli;
