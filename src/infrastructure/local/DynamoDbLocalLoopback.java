import java.io.IOException;
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
 *
 * <p>With -Dc360.exitWithParent=true, standard input is the pipe from the process that started it:
 * when that pipe closes (the process ended, however: exit, crash, kill -9), the server stops, so
 * no DynamoDB Local outlives the process that owns it.
 */
public final class DynamoDbLocalLoopback {
  private static final String[] RUNNERS = {
    "software.amazon.dynamodb.services.local.main.ServerRunner",
    "com.amazonaws.services.dynamodbv2.local.main.ServerRunner",
  };

  public static void main(String[] args) {
    String host = System.getProperty("c360.host", "127.0.0.1");
    if (Boolean.getBoolean("c360.exitWithParent")) watchParent();
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

  /** Ends the process when standard input (the parent's pipe) reaches its end. */
  private static void watchParent() {
    Thread watch =
        new Thread(
            () -> {
              try {
                byte[] buffer = new byte[256];
                while (System.in.read(buffer) != -1) {
                  // nothing is sent: only the end of the pipe matters
                }
              } catch (IOException e) {
                // a broken pipe is an end too
              }
              System.err.println("DynamoDbLocalLoopback: the process that started it is gone; stopping");
              // a shutdown hook that hangs must not keep the server alive
              Thread halt =
                  new Thread(
                      () -> {
                        try {
                          Thread.sleep(5_000);
                        } catch (InterruptedException e) {
                          // halting now
                        }
                        Runtime.getRuntime().halt(0);
                      });
              halt.setDaemon(true);
              halt.start();
              System.exit(0);
            },
            "c360-parent-watch");
    watch.setDaemon(true);
    watch.start();
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
