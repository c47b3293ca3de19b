-- A request forms only once its job host served the board's challenge on its onion.
ALTER TABLE "Request" ADD COLUMN "challenge" TEXT;
ALTER TABLE "Request" ADD COLUMN "verifiedAt" DATETIME;
