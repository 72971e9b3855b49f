package dev.sabre.firecracker.standin;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;
import org.yaml.snakeyaml.DumperOptions;

import java.io.IOException;
import java.io.Reader;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Firecracker's official OpenAPI (Swagger 2.0) file, parsed at run time, and a validator of request
 * bodies against its schemas: {@code $ref}, {@code type}, {@code required}, {@code enum},
 * {@code minimum}/{@code maximum}, {@code items} and properties. Unknown properties are rejected unless
 * the schema says {@code additionalProperties: true}, because Firecracker's deserializers deny unknown
 * fields (the file never says {@code additionalProperties: false}, which Swagger would need to say it).
 */
public final class OpenApiSpec {
    /** The system property naming the directory that holds {@code firecracker-api.yaml}. */
    public static final String PROPERTY = "sabre.specs";
    public static final String FILE = "firecracker-api.yaml";

    private final Path file;
    private final Map<String, Object> root;

    private OpenApiSpec(Path file, Map<String, Object> root) {
        this.file = file;
        this.root = root;
    }

    /** The spec file: {@code -Dsabre.specs=DIR}, else {@code shared/specs/} found walking up from the working directory. */
    public static Path locate() {
        String dir = System.getProperty(PROPERTY);
        if (dir != null && !dir.isBlank()) {
            Path p = Path.of(dir).resolve(FILE);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("-D" + PROPERTY + "=" + dir + " has no " + FILE);
            }
            return p;
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path p = d.resolve("shared").resolve("specs").resolve(FILE);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IllegalStateException("cannot find shared/specs/" + FILE + " above " + Path.of("").toAbsolutePath()
                + "; pass -D" + PROPERTY + "=DIR");
    }

    public static OpenApiSpec load(Path file) {
        // YAML 1.1 would read the enum value Off (Logger.level) as a boolean: resolve booleans as YAML 1.2 does.
        Resolver resolver = new Resolver() {
            @Override
            protected void addImplicitResolvers() {
                addImplicitResolver(Tag.BOOL, Pattern.compile("^(?:true|false)$"), "tf");
                addImplicitResolver(Tag.INT, Resolver.INT, "-+0123456789");
                addImplicitResolver(Tag.FLOAT, Resolver.FLOAT, "-+0123456789.");
                addImplicitResolver(Tag.NULL, Resolver.NULL, "~nN\0");
                addImplicitResolver(Tag.NULL, Resolver.EMPTY, null);
            }
        };
        LoaderOptions options = new LoaderOptions();
        Yaml yaml = new Yaml(new SafeConstructor(options), new Representer(new DumperOptions()), new DumperOptions(),
                options, resolver);
        try (Reader in = Files.newBufferedReader(file)) {
            Map<String, Object> root = yaml.load(in);
            return new OpenApiSpec(file, root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    public String version() {
        return String.valueOf(map(root.get("info")).get("version"));
    }

    /** Every path template ({@code /drives/{drive_id}}, ...). */
    public Set<String> paths() {
        return map(root.get("paths")).keySet();
    }

    /** The template of {@code path}, or null: {@code /drives/rootfs} matches {@code /drives/{drive_id}}. */
    public String template(String path) {
        for (String t : paths()) {
            String regex = Pattern.quote(t).replaceAll("\\{[^}]+}", "\\\\E[^/]+\\\\Q");
            if (path.matches(regex)) {
                return t;
            }
        }
        return null;
    }

    /** The methods the spec defines on the template ({@code get}, {@code put}, {@code patch}). */
    public Set<String> methods(String template) {
        Set<String> m = new LinkedHashSet<>();
        for (String k : map(map(root.get("paths")).get(template)).keySet()) {
            if (List.of("get", "put", "patch", "post", "delete").contains(k)) {
                m.add(k);
            }
        }
        return m;
    }

    /** The operation's body parameter: its schema, or null when it takes no body. */
    public Map<String, Object> bodySchema(String template, String method) {
        Map<String, Object> op = map(map(map(root.get("paths")).get(template)).get(method.toLowerCase()));
        Object params = op.get("parameters");
        if (params instanceof List<?> list) {
            for (Object p : list) {
                Map<String, Object> param = map(p);
                if ("body".equals(param.get("in"))) {
                    return map(param.get("schema"));
                }
            }
        }
        return null;
    }

    /** True when the body parameter is required. */
    public boolean bodyRequired(String template, String method) {
        Map<String, Object> op = map(map(map(root.get("paths")).get(template)).get(method.toLowerCase()));
        if (op.get("parameters") instanceof List<?> list) {
            for (Object p : list) {
                Map<String, Object> param = map(p);
                if ("body".equals(param.get("in"))) {
                    return Boolean.TRUE.equals(param.get("required"));
                }
            }
        }
        return false;
    }

    /** The named definition ({@code #/definitions/NAME}). */
    public Map<String, Object> definition(String name) {
        Map<String, Object> d = map(map(root.get("definitions")).get(name));
        if (d.isEmpty()) {
            throw new IllegalStateException(file + " has no definition " + name);
        }
        return d;
    }

    /** Every violation of {@code schema} by {@code value}, each naming the JSON path at fault; empty when valid. */
    public List<String> validate(Map<String, Object> schema, JsonElement value) {
        List<String> errors = new ArrayList<>();
        check(schema, value, "$", errors);
        return errors;
    }

    private void check(Map<String, Object> schema, JsonElement value, String at, List<String> errors) {
        schema = resolve(schema);
        Object type = schema.get("type");
        if (type == null && schema.containsKey("properties")) {
            type = "object";
        }
        if (value == null || value.isJsonNull()) {
            errors.add(at + ": null is not allowed");
            return;
        }
        if (type != null && !hasType(value, type.toString())) {
            errors.add(at + ": expected " + type + ", got " + describe(value));
            return;
        }
        if (schema.get("enum") instanceof List<?> allowed) {
            String v = value.isJsonPrimitive() ? value.getAsString() : value.toString();
            if (allowed.stream().map(String::valueOf).noneMatch(v::equals)) {
                errors.add(at + ": '" + v + "' is not one of " + allowed);
            }
        }
        if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber()) {
            BigDecimal n = value.getAsBigDecimal();
            if (schema.get("minimum") instanceof Number min && n.compareTo(new BigDecimal(min.toString())) < 0) {
                errors.add(at + ": " + n + " is below the minimum " + min);
            }
            if (schema.get("maximum") instanceof Number max && n.compareTo(new BigDecimal(max.toString())) > 0) {
                errors.add(at + ": " + n + " is above the maximum " + max);
            }
        }
        if (value.isJsonArray() && schema.get("items") != null) {
            JsonArray array = value.getAsJsonArray();
            for (int i = 0; i < array.size(); i++) {
                check(map(schema.get("items")), array.get(i), at + "[" + i + "]", errors);
            }
        }
        if (value.isJsonObject()) {
            JsonObject object = value.getAsJsonObject();
            Map<String, Object> properties = map(schema.get("properties"));
            if (schema.get("required") instanceof List<?> required) {
                for (Object r : required) {
                    if (!object.has(r.toString())) {
                        errors.add(at + ": missing required property '" + r + "'");
                    }
                }
            }
            Object additional = schema.get("additionalProperties");
            for (Map.Entry<String, JsonElement> e : object.entrySet()) {
                String where = at + "." + e.getKey();
                if (properties.containsKey(e.getKey())) {
                    check(map(properties.get(e.getKey())), e.getValue(), where, errors);
                } else if (additional instanceof Map<?, ?> extra) {
                    check(map(extra), e.getValue(), where, errors);
                } else if (!Boolean.TRUE.equals(additional)) {
                    errors.add(at + ": unknown property '" + e.getKey() + "' (known: " + properties.keySet() + ")");
                }
            }
        }
    }

    /** Follows {@code $ref: "#/definitions/NAME"} chains. */
    private Map<String, Object> resolve(Map<String, Object> schema) {
        int hops = 0;
        while (schema.get("$ref") instanceof String ref) {
            if (!ref.startsWith("#/definitions/") || ++hops > 32) {
                throw new IllegalStateException(file + ": unsupported or cyclic $ref " + ref);
            }
            schema = definition(ref.substring("#/definitions/".length()));
        }
        return schema;
    }

    private static boolean hasType(JsonElement v, String type) {
        return switch (type) {
            case "object" -> v.isJsonObject();
            case "array" -> v.isJsonArray();
            case "string" -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isString();
            case "boolean" -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isBoolean();
            case "number" -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber();
            case "integer" -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber() && isInteger(v.getAsJsonPrimitive());
            default -> throw new IllegalStateException("unsupported schema type " + type);
        };
    }

    private static boolean isInteger(JsonPrimitive p) {
        try {
            p.getAsBigDecimal().toBigIntegerExact();
            return true;
        } catch (ArithmeticException e) {
            return false;
        }
    }

    private static String describe(JsonElement v) {
        if (v.isJsonObject()) {
            return "an object";
        }
        if (v.isJsonArray()) {
            return "an array";
        }
        JsonPrimitive p = v.getAsJsonPrimitive();
        return p.isString() ? "string \"" + p.getAsString() + "\"" : p.isBoolean() ? "boolean " + p : "number " + p;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }
}
