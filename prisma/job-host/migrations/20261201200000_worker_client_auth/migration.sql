-- AlterTable
ALTER TABLE "Worker" ADD COLUMN "clientAuthKey" TEXT;

