// The requester console's page frame: its own root layout (never the board's), plain HTML and CSS, nothing from anywhere else.
import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./console.css";

export const metadata: Metadata = {
  title: "TorMR console",
  description: "Create, watch and collect the jobs of this job host.",
  referrer: "same-origin",
  robots: { index: false, follow: false },
};

export default function ConsoleLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="console">
        <header className="bar">
          <a className="brand" href="/console">
            TorMR <span>console</span>
          </a>
          <nav>
            <a href="/console">Jobs</a>
            <a href="/console/new">New job</a>
          </nav>
          <p className="where">this machine only · 127.0.0.1</p>
        </header>
        <main className="page">{children}</main>
      </body>
    </html>
  );
}
