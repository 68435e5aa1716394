import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;

/**
 * A tiny WebSocket listener for the README tour, runnable without a build:
 *
 * <pre>java docs/tour/Listen.java ws://127.0.0.1:8080/demo chat</pre>
 *
 * Connects, subscribes to the channel and prints every message the broker sends.
 */
public class Listen {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: java Listen.java ws://HOST:PORT/VHOST CHANNEL");
      System.exit(2);
    }
    CountDownLatch closed = new CountDownLatch(1);
    WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(URI.create(args[0]), new WebSocket.Listener() {
          private final StringBuilder text = new StringBuilder();

          @Override
          public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
              System.out.println(text);
              text.setLength(0);
            }
            ws.request(1);
            return null;
          }

          @Override
          public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            System.out.println("closed: " + status + " " + reason);
            closed.countDown();
            return null;
          }
        }).join();
    ws.sendText("{\"subscribe\": {\"channel\": \"" + args[1] + "\"}}", true).join();
    closed.await();
  }
}
