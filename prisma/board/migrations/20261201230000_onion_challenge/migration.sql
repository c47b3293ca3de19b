-- A request forms only once its job host served the board's challenge on its onion.
ALTER TABLE "Request" ADD COLUMN "challenge" TEXT;
ALTER TABLE "Request" ADD COLUMN "verifiedAt" DATETIME;

-- A seat is handed to its worker only once the job host lets the worker's key into its onion.
ALTER TABLE "Seat" ADD COLUMN "admittedAt" DATETIME;
