-- AlterTable
ALTER TABLE "Attempt" ADD COLUMN "resultSignature" TEXT;
ALTER TABLE "Attempt" ADD COLUMN "resultStatement" TEXT;

