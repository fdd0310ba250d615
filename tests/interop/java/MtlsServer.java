// A tiny JDK-only HTTPS server with mandatory client certificates: what a Spring Boot server with
// `server.ssl.client-auth: need` does, without Spring. Used by tests/test_java_mtls.py.
//
//   java MtlsServer KEYSTORE KEYSTORE_TYPE KEYSTORE_PASSWORD TRUSTSTORE TRUSTSTORE_TYPE TRUSTSTORE_PASSWORD
//
// TYPE is JKS or PKCS12. A password written @PATH is read from that file (trailing newline stripped).
// Binds 127.0.0.1 on a free port, prints the port as the first line of stdout, and answers every
// request with 200 "hello <CN of the client certificate>".

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

public final class MtlsServer {
    private MtlsServer() {
    }

    static char[] password(String arg) throws Exception {
        if (arg.startsWith("@")) {
            String text = Files.readString(Path.of(arg.substring(1)), StandardCharsets.UTF_8);
            if (text.endsWith("\n")) {
                text = text.substring(0, text.length() - 1);
            }
            return text.toCharArray();
        }
        return arg.toCharArray();
    }

    static KeyStore load(String path, String type, char[] password) throws Exception {
        KeyStore store = KeyStore.getInstance(type);
        try (InputStream in = new FileInputStream(path)) {
            store.load(in, password);
        }
        return store;
    }

    static String commonName(X509Certificate cert) throws Exception {
        LdapName name = new LdapName(cert.getSubjectX500Principal().getName());
        for (Rdn rdn : name.getRdns()) {
            if (rdn.getType().equalsIgnoreCase("CN")) {
                return rdn.getValue().toString();
            }
        }
        return name.toString();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: MtlsServer KEYSTORE TYPE PASSWORD TRUSTSTORE TYPE PASSWORD");
            System.exit(2);
        }
        char[] keyPassword = password(args[2]);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(load(args[0], args[1], keyPassword), keyPassword);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(load(args[3], args[4], password(args[5])));
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);

        HttpsServer server = HttpsServer.create(
                new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context) {
            @Override
            public void configure(HttpsParameters params) {
                // Not params.setNeedClientAuth(true): on JDK 17 HttpsParameters follows it with
                // setWantClientAuth(false), which turns client authentication off again.
                SSLParameters sslParams = getSSLContext().getDefaultSSLParameters();
                sslParams.setNeedClientAuth(true);
                params.setSSLParameters(sslParams);
            }
        });
        server.createContext("/", exchange -> {
            byte[] body;
            int status = 200;
            try {
                X509Certificate peer = (X509Certificate)
                        ((HttpsExchange) exchange).getSSLSession().getPeerCertificates()[0];
                body = ("hello " + commonName(peer) + "\n").getBytes(StandardCharsets.UTF_8);
            } catch (Exception e) {
                status = 403;
                body = ("no client certificate: " + e + "\n").getBytes(StandardCharsets.UTF_8);
            }
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        System.out.println(server.getAddress().getPort());
        System.out.flush();
    }
}
