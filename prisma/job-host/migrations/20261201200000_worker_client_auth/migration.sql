-- AlterTable
ALTER TABLE "JoinTicket" ADD COLUMN "clientAuthKey" TEXT;

-- AlterTable
ALTER TABLE "Worker" ADD COLUMN "clientAuthKey" TEXT;
