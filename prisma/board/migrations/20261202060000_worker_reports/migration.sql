-- CreateTable
CREATE TABLE "Report" (
    "request" TEXT NOT NULL,
    "worker" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("request", "worker")
);

