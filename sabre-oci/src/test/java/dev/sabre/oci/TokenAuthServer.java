package dev.sabre.oci;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A token server for the registry's bearer-token authentication (the Docker Registry token protocol, as Docker
 * Hub and most cloud registries use it): the registry answers 401 with {@code WWW-Authenticate: Bearer
 * realm=...,service=...,scope=...}; the client asks this server for a token with its basic credentials and
 * retries with {@code Authorization: Bearer TOKEN}. Tokens are RS256 JWTs carrying the signing certificate
 * ({@code x5c}), which the registry checks against the certificate bundle this server writes for it
 * ({@link #startRegistry}). The key pair and the self-signed certificate are made with the JDK's
 * keytool. Only one user, with one password, gets a token, for exactly the scope it asked.
 */
public final class TokenAuthServer implements AutoCloseable {
    static final String SERVICE = "sabre-test-registry";
    static final String ISSUER = "sabre-test-token-issuer";

    private final HttpServer server;
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final Path bundle;
    private final String user;
    private final String password;
    /** Token requests answered with a token, and refused. */
    public final AtomicInteger granted = new AtomicInteger();
    public final AtomicInteger refused = new AtomicInteger();

    private TokenAuthServer(HttpServer server, PrivateKey key, X509Certificate certificate, Path bundle, String user,
                            String password) {
        this.server = server;
        this.key = key;
        this.certificate = certificate;
        this.bundle = bundle;
        this.user = user;
        this.password = password;
    }

    /** Starts on a free loopback port; the key, certificate and bundle go under {@code dir}. */
    public static TokenAuthServer start(Path dir, String user, String password) throws Exception {
        Files.createDirectories(dir);
        Path keystore = dir.resolve("token.p12");
        String storePassword = UUID.randomUUID().toString();
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "token", "-keyalg", "RSA",
                "-keysize", "2048", "-sigalg", "SHA256withRSA", "-validity", "2", "-dname", "CN=" + ISSUER,
                "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", storePassword)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + out);
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(keystore.toFile())) {
            store.load(in, storePassword.toCharArray());
        }
        PrivateKey key = (PrivateKey) store.getKey("token", storePassword.toCharArray());
        X509Certificate certificate = (X509Certificate) store.getCertificate("token");
        Path bundle = dir.resolve("token-bundle.pem");
        Files.writeString(bundle, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(certificate.getEncoded())
                + "\n-----END CERTIFICATE-----\n");
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        TokenAuthServer tokens = new TokenAuthServer(server, key, certificate, bundle, user, password);
        server.createContext("/token", tokens::answer);
        server.start();
        return tokens;
    }

    /** Starts a registry that accepts this server's tokens (and nothing else) over {@code storage}. */
    public RegistryServer startRegistry(Path storage) {
        return RegistryServer.startWithTokenAuth(storage, "http://127.0.0.1:" + server.getAddress().getPort() + "/token",
                SERVICE, ISSUER, bundle);
    }

    private void answer(HttpExchange exchange) throws IOException {
        try (exchange) {
            String expected = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
                    .getBytes(StandardCharsets.UTF_8));
            if (!expected.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                refused.incrementAndGet();
                exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"" + ISSUER + "\"");
                exchange.sendResponseHeaders(401, -1);
                return;
            }
            List<String> scopes = new ArrayList<>();
            String query = exchange.getRequestURI().getRawQuery();
            for (String parameter : query == null ? new String[0] : query.split("&")) {
                int eq = parameter.indexOf('=');
                if (eq > 0 && parameter.substring(0, eq).equals("scope")) {
                    scopes.add(URLDecoder.decode(parameter.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            JsonObject body = new JsonObject();
            String token = token(scopes);
            body.addProperty("token", token);
            body.addProperty("access_token", token);
            body.addProperty("expires_in", 300);
            byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
            granted.incrementAndGet();
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
        }
    }

    /** An RS256 JWT granting each scope ({@code repository:NAME:ACTION,...}) to the user for five minutes. */
    private String token(List<String> scopes) {
        try {
            JsonObject header = new JsonObject();
            header.addProperty("typ", "JWT");
            header.addProperty("alg", "RS256");
            JsonArray chain = new JsonArray();
            chain.add(Base64.getEncoder().encodeToString(certificate.getEncoded()));
            header.add("x5c", chain);
            long now = System.currentTimeMillis() / 1000;
            JsonObject claims = new JsonObject();
            claims.addProperty("iss", ISSUER);
            claims.addProperty("sub", user);
            claims.addProperty("aud", SERVICE);
            claims.addProperty("iat", now);
            claims.addProperty("nbf", now - 10);
            claims.addProperty("exp", now + 300);
            claims.addProperty("jti", UUID.randomUUID().toString());
            JsonArray access = new JsonArray();
            for (String scope : scopes) {
                String[] parts = scope.split(":");
                if (parts.length != 3) {
                    continue;
                }
                JsonObject grant = new JsonObject();
                grant.addProperty("type", parts[0]);
                grant.addProperty("name", parts[1]);
                JsonArray actions = new JsonArray();
                for (String action : parts[2].split(",")) {
                    actions.add(action);
                }
                grant.add("actions", actions);
                access.add(grant);
            }
            claims.add("access", access);
            Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
            String signed = url.encodeToString(header.toString().getBytes(StandardCharsets.UTF_8)) + "."
                    + url.encodeToString(claims.toString().getBytes(StandardCharsets.UTF_8));
            Signature rs256 = Signature.getInstance("SHA256withRSA");
            rs256.initSign(key);
            rs256.update(signed.getBytes(StandardCharsets.US_ASCII));
            return signed + "." + url.encodeToString(rs256.sign());
        } catch (Exception e) {
            throw new IllegalStateException("cannot sign a token: " + e, e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
