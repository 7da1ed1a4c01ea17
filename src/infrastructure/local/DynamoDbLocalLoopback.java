import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * DynamoDB Local bound to one address (127.0.0.1 unless -Dc360.host says otherwise).
 *
 * <p>DynamoDB Local has no option for the address it listens on: its Jetty server listens on every
 * interface, with no authentication. This launcher builds the server exactly as DynamoDB Local's
 * own main does (ServerRunner.createServerFromCommandLineArgs, the same arguments), sets the host
 * of each of the Jetty server's connectors before starting it, checks that they took it, and then
 * serves until the process is stopped. Run with Java 11 or newer's single-file source launcher:
 *
 * <pre>java -cp DynamoDBLocal.jar:DynamoDBLocal_lib/* DynamoDbLocalLoopback.java -port 8000 -inMemory</pre>
 *
 * Everything of DynamoDB Local and Jetty is reached by reflection, so the file compiles against
 * the JDK alone and keeps working across DynamoDB Local's package rename. Any surprise (no such
 * class, field or method, no connector) ends the process with status 3 and a message, never a
 * server on every interface.
 */
public final class DynamoDbLocalLoopback {
  private static final String[] RUNNERS = {
    "software.amazon.dynamodb.services.local.main.ServerRunner",
    "com.amazonaws.services.dynamodbv2.local.main.ServerRunner",
  };

  public static void main(String[] args) {
    String host = System.getProperty("c360.host", "127.0.0.1");
    try {
      Object proxy = runner().getMethod("createServerFromCommandLineArgs", String[].class).invoke(null, (Object) args);
      if (proxy == null) fail("ServerRunner.createServerFromCommandLineArgs returned no server");
      Object server = field(proxy, "server");
      Object[] connectors = (Object[]) server.getClass().getMethod("getConnectors").invoke(server);
      if (connectors == null || connectors.length == 0) fail("the Jetty server has no connector to bind");
      for (Object connector : connectors) {
        connector.getClass().getMethod("setHost", String.class).invoke(connector, host);
        Object bound = connector.getClass().getMethod("getHost").invoke(connector);
        if (!host.equals(bound)) fail("a connector kept host " + bound + " instead of " + host);
      }
      proxy.getClass().getMethod("start").invoke(proxy);
      System.err.println("DynamoDB Local listening on " + host + " only");
      proxy.getClass().getMethod("join").invoke(proxy);
    } catch (ReflectiveOperationException | ClassCastException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      fail("cannot bind DynamoDB Local to " + host + ": " + cause);
    }
  }

  private static Class<?> runner() throws ClassNotFoundException {
    for (String name : RUNNERS) {
      try {
        return Class.forName(name);
      } catch (ClassNotFoundException e) {
        // the other package name
      }
    }
    throw new ClassNotFoundException(String.join(" or ", RUNNERS) + " (is DynamoDBLocal.jar on the class path?)");
  }

  private static Object field(Object target, String name) throws ReflectiveOperationException {
    for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(target);
      } catch (NoSuchFieldException e) {
        // a superclass may hold it
      }
    }
    throw new NoSuchFieldException(target.getClass().getName() + "." + name);
  }

  private static void fail(String message) {
    System.err.println("DynamoDbLocalLoopback: " + message);
    System.exit(3);
  }
}
