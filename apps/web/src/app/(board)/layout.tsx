// The board's page frame: plain HTML and CSS, nothing from anywhere else.
import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "TorMR board",
  description: "Where TorMR requesters and volunteers meet, without learning who each other are.",
  referrer: "same-origin",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="site">
          <div className="frame">
            <a className="name" href="/">
              TorMR board
            </a>
            <nav>
              <a href="/post">Request a cluster</a>
              <a href="/volunteer">Volunteer</a>
            </nav>
          </div>
        </header>
        <main>{children}</main>
        <footer className="site">
          <p className="frame">
            This board keeps no IP address, sets no tracking cookie, and loads nothing from
            elsewhere.
          </p>
        </footer>
      </body>
    </html>
  );
}
