package dev.sabre.cli.image;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sabre image pull REF DIR}, {@code sabre image build FUNCTION}: functions as container images. */
@Command(name = "image", mixinStandardHelpOptions = true,
        description = "Container images: pull one into a root file system and its config; build a function's Dockerfile.",
        subcommands = {ImagePullCommand.class, ImageBuildCommand.class})
public final class ImageCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
