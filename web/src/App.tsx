import { HealthBanner } from "./components/health-banner.tsx";
import { TransportSwitch } from "./components/transport-switch.tsx";
import { Link, useRouter } from "./lib/router.tsx";
import { ApiPage } from "./pages/api/api-page.tsx";
import { ClusterPage } from "./pages/cluster/cluster-page.tsx";
import { LogPage } from "./pages/log/log-page.tsx";
import { OrderDetailPage } from "./pages/orders/order-detail-page.tsx";
import { OrdersPage } from "./pages/orders/orders-page.tsx";
import { useEffect } from "react";

const nav = [
  { to: "/orders", label: "Orders" },
  { to: "/log", label: "Log" },
  { to: "/cluster", label: "Cluster" },
  { to: "/api", label: "API" },
];

/** Shell: header (brand, navigation, protocol switch), health banner, the page of the URL. */
export function App() {
  const { path, navigate } = useRouter();
  useEffect(() => {
    if (path === "/" || path === "") navigate("/orders", { replace: true });
  }, [path, navigate]);
  const orderMatch = /^\/orders\/([^/]+)\/?$/.exec(path);
  let page;
  let title;
  if (orderMatch) {
    const id = decodeURIComponent(orderMatch[1]!);
    page = <OrderDetailPage id={id} />;
    title = `Order ${id}`;
  } else if (path.startsWith("/log")) {
    page = <LogPage />;
    title = "Log";
  } else if (path === "/api" || path.startsWith("/api/")) {
    page = <ApiPage />;
    title = "REST API";
  } else if (path.startsWith("/cluster")) {
    page = <ClusterPage />;
    title = "Cluster";
  } else if (path.startsWith("/orders") || path === "/") {
    page = <OrdersPage />;
    title = "Orders";
  } else {
    page = (
      <div className="panel">
        <div className="panel-body">
          <h1>Page not found</h1>
          <p>
            Nothing at <code>{path}</code>. <Link to="/orders">Go to the orders</Link>.
          </p>
        </div>
      </div>
    );
    title = "Not found";
  }
  useEffect(() => {
    document.title = `${title} · Switchboard`;
  }, [title]);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/orders" className="brand" aria-label="Switchboard home">
            <span className="brand-mark" aria-hidden="true" />
            Switchboard
          </Link>
          <nav aria-label="Main">
            <ul>
              {nav.map((n) => (
                <li key={n.to}>
                  <Link to={n.to} aria-current={path.startsWith(n.to) ? "page" : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <TransportSwitch />
        </div>
        <HealthBanner />
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
