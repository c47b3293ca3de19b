-- CreateTable
CREATE TABLE "Request" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "statusHash" TEXT NOT NULL,
    "hostHash" TEXT,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "onion" TEXT NOT NULL,
    "minMemoryMb" INTEGER NOT NULL,
    "sandbox" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    "formedAt" DATETIME
);

-- CreateTable
CREATE TABLE "Worker" (
    "pseudonym" TEXT NOT NULL PRIMARY KEY,
    "signingKey" TEXT NOT NULL,
    "wrappingKey" TEXT NOT NULL,
    "clientAuthKey" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "memoryMb" INTEGER NOT NULL,
    "sandbox" TEXT NOT NULL,
    "slots" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "state" TEXT NOT NULL,
    "standing" INTEGER NOT NULL DEFAULT 0,
    "lastSeen" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "availableSince" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Seat" (
    "worker" TEXT NOT NULL PRIMARY KEY,
    "request" TEXT NOT NULL,
    "ticket" TEXT,
    "ticketHash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Seat_worker_fkey" FOREIGN KEY ("worker") REFERENCES "Worker" ("pseudonym") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Seat_request_fkey" FOREIGN KEY ("request") REFERENCES "Request" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SpentStamp" (
    "hash" TEXT NOT NULL PRIMARY KEY,
    "spentAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE UNIQUE INDEX "Request_statusHash_key" ON "Request"("statusHash");

-- CreateIndex
CREATE UNIQUE INDEX "Request_hostHash_key" ON "Request"("hostHash");

-- CreateIndex
CREATE INDEX "Request_state_createdAt_idx" ON "Request"("state", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Worker_signingKey_key" ON "Worker"("signingKey");

-- CreateIndex
CREATE UNIQUE INDEX "Worker_tokenHash_key" ON "Worker"("tokenHash");

-- CreateIndex
CREATE INDEX "Worker_state_availableSince_idx" ON "Worker"("state", "availableSince");

-- CreateIndex
CREATE UNIQUE INDEX "Seat_ticketHash_key" ON "Seat"("ticketHash");

-- CreateIndex
CREATE INDEX "Seat_request_idx" ON "Seat"("request");

-- CreateIndex
CREATE UNIQUE INDEX "Seat_request_worker_key" ON "Seat"("request", "worker");

-- CreateIndex
CREATE INDEX "SpentStamp_spentAt_idx" ON "SpentStamp"("spentAt");

