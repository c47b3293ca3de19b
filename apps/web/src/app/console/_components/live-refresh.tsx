"use client";
// While a job runs, fetches the page's data again every second (JavaScript on); with JavaScript off the page's <noscript> refresh does it.
import { useRouter } from "next/navigation";
import { useEffect } from "react";

export function LiveRefresh({ everyMs }: { everyMs: number }) {
  const router = useRouter();
  useEffect(() => {
    const timer = setInterval(() => router.refresh(), everyMs);
    return () => clearInterval(timer);
  }, [router, everyMs]);
  return (
    <span className="muted live" aria-live="polite">
      live: updates every {Math.round(everyMs / 1000)} s
    </span>
  );
}
