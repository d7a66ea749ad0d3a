
// Unmask (app/site.go adds this to go-app's app.js): app.wasm is fetched
// once the service worker controls the page, so that the worker keeps the
// copy the page downloads instead of downloading it a second time. The
// page does not wait when it cannot be controlled: no service worker
// support, a failed registration or install, or a hard reload (the
// browser then bypasses an active worker).
function unmaskWhenControlled() {
  const sw = navigator.serviceWorker;
  if (!sw || sw.controller) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    sw.addEventListener("controllerchange", resolve, { once: true });
    sw.register("./app-worker.js").then((registration) => {
      const next = registration.installing || registration.waiting;
      if (!next) {
        resolve(); // active, yet not controlling: a hard reload
        return;
      }
      next.addEventListener("statechange", () => {
        if (next.state === "redundant") {
          resolve();
        }
      });
    }, resolve);
    setTimeout(resolve, 10000); // never wait longer than this
  });
}
